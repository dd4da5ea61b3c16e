pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                timeout(time: 5, unti: 'MINUTES') {  // <-- step-arguments
                    sh './build.sh'
                }
            }
        }
    }
}
