pipeline {
    agent any
    post { }  // <-- post-empty
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
