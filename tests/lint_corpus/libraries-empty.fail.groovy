pipeline {
    agent any
    libraries { }  // <-- libraries-empty
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
